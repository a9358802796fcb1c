"""The AWS wire protocols, driven by botocore's service models (the only botocore user).

The server uses ``specs.Registry`` (load the served models once) and
``dispatch.Wire`` (identify, parse, serialize, serialize_error, auth_error,
paginate, redact). Handlers raise ``errors.ServiceError.of(shape, message=…)``
for modelled exceptions. No module here knows any operation by name.
"""
