"""The password hasher of in-process tests: Django's PBKDF2-SHA256, the production
algorithm, at 1,000 rounds instead of Django's 1,000,000 (a quarter of a second per hash,
and the suite makes thousands of accounts and sign-ins). Servers that tests start
(``tests/live.py``) keep the production settings; ``tests/test_accounts_live.py`` checks
what they store."""

from django.contrib.auth.hashers import PBKDF2PasswordHasher


class QuickPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    iterations = 1000
