"""Release of evidence outside the department: shares of items and cases with prosecutor
accounts, expiring revocable links, and court exports (ZIP verifiable offline)."""
