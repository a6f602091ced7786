"""PynamoDB caches a connection per model class and describes the table from that
class's fields. An item shape that inherited the base model's connection would not
know the index, and its queries would crash with "Table … has no index: gsi1"."""

from __future__ import annotations

from pynamodb.models import Model

from kuploy_access.adapters.dynamodb import models
from kuploy_access.adapters.dynamodb.keys import org_pk


def _models() -> list[type[Model]]:
    return [m for m in vars(models).values() if isinstance(m, type) and issubclass(m, models.TableItem)]


def test_every_indexed_item_shape_queries_its_index_after_the_base_model_connected(aws, monkeypatch):
    # A container's first request: no model has connected yet (a shape without its own
    # slot keeps inheriting whatever the base model holds).
    monkeypatch.setattr(models.TableItem, "_connection", None)
    for model in _models():
        if "_connection" in vars(model):
            monkeypatch.setattr(model, "_connection", None)
    list(models.TableItem.query(org_pk("nothing")))  # the base model connects first
    for model in (models.MembershipItem, models.InvitationItem, models.ApiKeyItem):
        index = next(value for value in vars(model).values() if isinstance(value, models.Gsi1))
        assert list(index.query(org_pk("nothing-here"))) == []
