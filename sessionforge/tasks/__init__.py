"""sessionforge.tasks"""
