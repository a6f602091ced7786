"""Request and response models, one module per capability.

`common` holds what several capabilities answer (`Accepted`), `paging` the `PageView[T]`
envelope every list uses, `audit` the audit trail (an organization's and an account's).
Response models are allow-lists read from domain objects (`model_validate(obj)`,
`from_attributes=True`): only declared fields go out.
"""
