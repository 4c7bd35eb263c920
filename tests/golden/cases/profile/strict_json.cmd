validate
--json
--profile
strict.yaml
input.hl7
