"""What the pages say, decided without I/O: Swedish words for kaa's codes, dates and working days,
the contact clock's colour and text, and a service's refusal turned into messages by field."""
