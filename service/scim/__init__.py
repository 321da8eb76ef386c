"""SCIM 2.0 provisioning (RFC 7643/7644): people as Users, org units as Groups."""
