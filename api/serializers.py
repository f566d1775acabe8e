"""Output pieces shared by several endpoints. Personal fields leave the API masked:
ID number and phone show their last four characters only."""

from __future__ import annotations

from rest_framework import serializers

from customers.masking import mask


class MaskedField(serializers.CharField):
    """A personal field, masked: ``••••••••••••••1234``."""

    def to_representation(self, value):
        return mask(str(value or ""))


class StaffSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField(source="__str__")


class CustomerSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    customer_id = serializers.CharField()
    name = serializers.CharField()
    branch_code = serializers.CharField(source="branch.code")
    rm = StaffSerializer(allow_null=True)  # null: the customer is not assigned to an RM
    segment = serializers.CharField(source="effective_segment")
    tier = serializers.CharField()
    status = serializers.CharField()
    latest_aum = serializers.DecimalField(max_digits=18, decimal_places=2)
    phone_masked = MaskedField(source="phone")
    id_number_masked = MaskedField(source="id_number")
