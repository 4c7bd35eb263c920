messages
show
0
--config
junction.yaml
