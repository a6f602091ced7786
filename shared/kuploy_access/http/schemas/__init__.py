"""Request and response models, one module per capability.

`common` holds what several functions answer (tokens, `Accepted`, the audit trail) and
the `Page[T]` envelope every list uses. Response models are allow-lists read from domain
objects (`model_validate(obj)`, `from_attributes=True`): only declared fields go out.
"""
