validate
--profile
broken.yaml
input.hl7
