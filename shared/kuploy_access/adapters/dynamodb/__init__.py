"""DynamoDB repositories over one table (PynamoDB).

Key design (pk / sk, and the inverted index gsi1pk / gsi1sk):

| item | pk | sk | gsi1pk / gsi1sk |
|---|---|---|---|
| user | `USER#<usr>` | `PROFILE` | |
| email guard (unique address) | `EMAIL#<address>` | `EMAIL` | |
| skeleton guard (unique look) | `EMAILSKELETON#<sha256 of the TR39 skeleton>` | `EMAILSKELETON` | |
| one-time token | `TOKEN#<kind>#<sha256>` | `TOKEN` | |
| session | `USER#<usr>` | `SESSION#<ses>` | |
| refresh token | `REFRESH#<sha256>` | `REFRESH` | |
| membership | `ORG#<org>` | `MEMBER#<usr>` | `USER#<usr>` / `ORG#<org>` |

`expires_at_epoch` is the table's TTL attribute; TTL deletes lazily, so every read
checks expiry itself.
"""
