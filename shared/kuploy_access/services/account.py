"""The signed-in person's own account: `GET /me`, `PATCH /me`."""

from __future__ import annotations

from dataclasses import dataclass

from kuploy_access.domain.errors import Unauthorized
from kuploy_access.domain.identities import Identity
from kuploy_access.domain.users import OrganizationMembership, User, clean_name
from kuploy_access.services.ports.identities import IdentityLookup
from kuploy_access.services.ports.organizations import UserMemberships
from kuploy_access.services.ports.users import ProfileStore


@dataclass(frozen=True)
class AccountView:
    user: User
    organizations: list[OrganizationMembership]
    identities: list[Identity]

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.user.id,
            "email": self.user.email,
            "name": self.user.name,
            "email_verified": self.user.email_verified,
            "two_factor_enabled": self.user.two_factor_enabled,
            "created_at": self.user.created_at.isoformat().replace("+00:00", "Z"),
            "organizations": [{"id": m.org_id, "name": m.org_name, "role": m.role} for m in self.organizations],
            "has_password": self.user.password_hash is not None,
            "identities": [
                {"provider": i.provider.value, "email": i.email, "linked_at": i.linked_at} for i in self.identities
            ],
        }


@dataclass
class AccountService:
    users: ProfileStore
    memberships: UserMemberships
    identities: IdentityLookup

    def get(self, user_id: str) -> AccountView:
        return self._view(self._user(user_id))

    def rename(self, user_id: str, name: str) -> AccountView:
        user = self.users.update_name(user_id, clean_name(name))
        if user is None:
            raise Unauthorized("invalid_token", "The account no longer exists")
        self.memberships.rename_member(user_id, user.name)
        return self._view(user)

    def _view(self, user: User) -> AccountView:
        return AccountView(user, self.memberships.organizations_of(user.id), self.identities.identities_of(user.id))

    def _user(self, user_id: str) -> User:
        user = self.users.get(user_id)
        if user is None:
            # A valid token for an account that no longer exists.
            raise Unauthorized("invalid_token", "The account no longer exists")
        return user
