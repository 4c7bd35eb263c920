transform
--config
unknown-table.yaml
--channel
lab
input.hl7
