// domain/permissions.py's table, for showing only what a role may do. The API still
// decides: a hidden button is a courtesy, not a control. tests/unit/test_console_permissions.py
// holds this copy equal to the Python table.

// BEGIN TABLE
export const TABLE = {
  "roles": {
    "owner": [
      "api_keys:manage",
      "apps:deploy",
      "apps:read",
      "apps:write",
      "audit:read",
      "billing:manage",
      "billing:read",
      "databases:read",
      "databases:write",
      "members:manage",
      "members:read",
      "notifications:read",
      "notifications:write",
      "org:delete",
      "org:read",
      "org:transfer_ownership",
      "org:update",
      "projects:read",
      "projects:write"
    ],
    "admin": [
      "api_keys:manage",
      "apps:deploy",
      "apps:read",
      "apps:write",
      "audit:read",
      "billing:read",
      "databases:read",
      "databases:write",
      "members:manage",
      "members:read",
      "notifications:read",
      "notifications:write",
      "org:read",
      "org:update",
      "projects:read",
      "projects:write"
    ],
    "member": [
      "apps:deploy",
      "apps:read",
      "databases:read",
      "members:read",
      "notifications:read",
      "org:read",
      "projects:read"
    ]
  },
  "key_scopes": [
    "apps:deploy",
    "apps:read",
    "apps:write",
    "audit:read",
    "billing:read",
    "databases:read",
    "databases:write",
    "members:read",
    "notifications:read",
    "notifications:write",
    "org:read",
    "projects:read",
    "projects:write"
  ],
  "scope_presets": {
    "read-only": [
      "apps:read",
      "audit:read",
      "billing:read",
      "databases:read",
      "members:read",
      "notifications:read",
      "org:read",
      "projects:read"
    ],
    "deploy": [
      "apps:deploy",
      "apps:read",
      "audit:read",
      "billing:read",
      "databases:read",
      "members:read",
      "notifications:read",
      "org:read",
      "projects:read"
    ],
    "full": [
      "apps:deploy",
      "apps:read",
      "apps:write",
      "audit:read",
      "billing:read",
      "databases:read",
      "databases:write",
      "members:read",
      "notifications:read",
      "notifications:write",
      "org:read",
      "projects:read",
      "projects:write"
    ]
  },
  "assignable_roles": [
    "admin",
    "member"
  ]
};
// END TABLE

/** May this role do that? permission as "members:manage". */
export function can(role, permission) {
  return Boolean(role) && (TABLE.roles[role] || []).includes(permission);
}
