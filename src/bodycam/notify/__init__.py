"""E-mail notifications over SMTP: shares received, public-records deadlines,
deletions awaiting approval, fixity/storage alerts, cameras not docked. Mails carry links to
the app's pages, never evidence; each person chooses which kinds they receive; every mail
sent is audited (recipient and kind, not the body). docs/deploy.md has the SMTP settings."""
