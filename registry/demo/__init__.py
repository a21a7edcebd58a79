"""The demo world of `make run` (DESIGN §7): sample certificates posted through the real
write path (world) and the published demo logins (users). Refused in production."""
