"""sessionforge.formats"""
