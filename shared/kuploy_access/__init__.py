"""Kuploy Access: the domain package shipped in the Lambda layer."""
