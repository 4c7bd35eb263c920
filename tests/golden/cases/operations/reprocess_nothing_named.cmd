messages
reprocess
--config
junction.yaml
