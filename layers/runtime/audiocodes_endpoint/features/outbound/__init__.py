"""Outbound calls through VoiceAI Connect's / Live Hub's dial-out API (issue 10)."""
