transform
--config
lua-syntax.yaml
--channel
lab
input.hl7
