"""Accounts and credentials: password hashing, signed tokens, and who is calling.

Token kinds (JWT `typ`)
 ├── access   a parent, minutes                  Authorization header only
 ├── refresh  a parent, days; buys new access    request body only
 ├── device   a child's reading app; revocable   Authorization header only
 └── stream   one child or one run, minutes      the only kind accepted as ?ticket=
"""
