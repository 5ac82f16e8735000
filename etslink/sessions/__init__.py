"""Scripted session files: a registry session, a compliance session, a federation of registries."""
