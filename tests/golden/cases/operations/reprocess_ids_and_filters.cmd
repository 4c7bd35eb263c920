messages
reprocess
3
--status
error
--config
junction.yaml
