"""Item and learner analytics for instructors, computed by background jobs and kept per pack version."""
