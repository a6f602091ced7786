"""What the use cases need from the outside world, as protocols sized to the service
that uses them (one protocol per consumer; one adapter class may implement several).

Each port's docstring lists the exceptions it raises: adapters translate DynamoDB's
condition failures into those, and the fakes raise the very same classes. An exception
that belongs to a port lives in the port's module. Import each name from its module;
this package re-exports nothing.

Module: ports (their consumers) / adapter (under adapters/) / fake (under tests/unit/)

clock:          Clock (every service)
                / clock.SystemClock / fakes.FakeClock
crypto:         PasswordHasher (sign-up, login, passwords, 2FA), SecretBox (TwoFactorService)
                / password_hasher.Argon2PasswordHasher, secret_box.AesGcmSecretBox
                / fakes.FakeHasher, two_factor_fakes.FakeSecretBox
mail:           Mailer (every service that emails)
                / ses_mailer.SesMailer / fakes.FakeMailer
tokens:         TokenRepository (sign-up, login, passwords); TokenNotUsable
                / dynamodb/tokens.DynamoTokenRepository / fakes.FakeTokens
users:          UserLookup (services that only read accounts), UserRegistry (SignUpService),
                Credentials (LoginService), PasswordResets (PasswordService), ProfileStore
                (AccountService); EmailAlreadyRegistered, EmailTooSimilar
                / dynamodb/users.DynamoUserRepository / fakes.FakeUsers
sessions:       SessionRepository (SessionService), SessionLookup (SudoService);
                RefreshAlreadyRotated, SessionNotLive
                / dynamodb/sessions.DynamoSessionRepository
                / fakes.FakeSessions, two_factor_fakes.CountingSessionLookup
throttling:     RateLimiter (sign-up, passwords, 2FA, organizations, invitations),
                LoginThrottle (login, passwords, 2FA)
                / dynamodb/rate_limits.DynamoRateLimiter, dynamodb/login_throttle.DynamoLoginThrottle
                / fakes.FakeRateLimiter (org_fakes.RefusingLimiter), fakes.FakeLoginThrottle
audit:          AuditRecorder (sessions, passwords, 2FA, re-authentication, admin),
                SignInAudit (LoginService), AuditReader (OrganizationService)
                / dynamodb/audit.DynamoAuditLog
                / fakes.FakeAccountTrail, org_fakes.FakeAuditLog, two_factor_fakes.FakeSecurityLog
organizations:  OrgAccess (AccessService), OrganizationStore (OrganizationService), MemberStore
                (MemberService), UserMemberships (AccountService), MemberRoster (AccessReviewService)
                / dynamodb/organizations.DynamoOrganizationRepository / org_fakes.FakeOrganizations
invitations:    InvitationStore = SentInvitations + InvitationAnswers (InvitationService),
                InvitationSweep (MemberService), InvitationRoster (AccessReviewService)
                / dynamodb/invitations.DynamoInvitationRepository / org_fakes.FakeInvitations
resources:      ResourceRepository (ResourceService)
                / dynamodb/resources.DynamoResourceRepository / org_fakes.FakeResources
api_keys:       ApiKeyRepository (ApiKeyService), ApiKeyRoster (AccessReviewService)
                / dynamodb/api_keys.DynamoApiKeyRepository / org_fakes.FakeApiKeys
two_factor:     TwoFactorStore = SecondFactors + ChallengeAttempts (TwoFactorService; LoginService
                reaches the challenges through it), FactorReset (AdminService)
                / dynamodb/two_factor.DynamoTwoFactorRepository / two_factor_fakes.FakeTwoFactor
"""
