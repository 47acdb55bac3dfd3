"""sessionforge.model"""
