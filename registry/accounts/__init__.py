"""Accounts: who may act, and how they prove it.

Owns organisations and their machine credentials (organisations, obligee_codes,
prefectures, machine_credentials), portal users and their server-side sessions (users,
user_sessions), signing in with a password, a second factor and a known browser
(sign_in, otp, recovery_codes, devices), a user's own credential changes and an admin's
resets (credentials, password_policy), and the failure counts that stop guessing
(throttle).
"""
