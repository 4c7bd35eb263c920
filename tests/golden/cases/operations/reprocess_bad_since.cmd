messages
reprocess
--since
yesterday
--config
junction.yaml
