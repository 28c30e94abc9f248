"""The synthetic-data generator: people, places, money, records with noise, and the truth."""
