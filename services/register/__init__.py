"""register: the statutory register (förordning 2006:39 § 4), SCB reporting and audit replay."""
