messages
reprocess
3
4
--config
junction.yaml
