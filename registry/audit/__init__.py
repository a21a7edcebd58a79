"""Audit: the hash-chained trail and the proof built on it.

Owns appending to the chain (chain, encoding), reading it for auditors (queries, labels),
refusals worth recording without flooding it (denials), signed checkpoints and their
copies and time-stamps outside the database (checkpoints, checkpoint_publishing,
checkpoint_verification, timestamps), re-verifying everything stored (integrity,
verification_runs), and evidence bundles with their stand-alone checker (evidence,
bundle_check, bundle_checkpoints).
"""
