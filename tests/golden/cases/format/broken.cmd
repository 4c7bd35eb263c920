format
broken.json
