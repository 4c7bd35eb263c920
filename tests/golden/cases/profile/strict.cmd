validate
--profile
strict.yaml
input.hl7
