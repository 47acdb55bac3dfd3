"""sessionforge.replay"""
