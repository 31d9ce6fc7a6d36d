"""`make deploy-plan`: deploy/terraform planned and applied by OpenTofu with the real AWS provider,
against AWS API emulators on loopback (moto, and stand-ins for what moto lacks). See
deploy/README.md, "Planned and applied for real"."""
