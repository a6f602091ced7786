"""DynamoDB repositories over one table (PynamoDB).

keys.py builds every key of the table (README's "Data" table); models.py gives each
item shape its attributes; conditions.py and transactions.py hold what the
repositories' writes share.

`expires_at_epoch` is the table's TTL attribute; TTL deletes lazily, so every read
checks expiry itself.
"""
