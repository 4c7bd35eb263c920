messages
reprocess
x7
--config
junction.yaml
