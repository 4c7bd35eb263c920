format
message.json
