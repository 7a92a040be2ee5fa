"""Language models in flows: providers (Bedrock, OpenAI-compatible), sentence streaming, tool loops.

Only :mod:`.bedrock` touches boto3; :mod:`.openai` speaks HTTP with server-sent events. The flow
nodes (``flows/nodes/llm.py``) and the NLU connector use :mod:`.agent` and :mod:`.types` only.
"""
