"""Node types, one module per family: messages, logic, question, audiocodes, voice, http, code."""
