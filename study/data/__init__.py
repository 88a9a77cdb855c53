"""The data wing: images and where they come from. Dataset sources (folders and
archives) and their decode-once array cache, the demo pool, the one resolver of
which dataset the app serves (active.py), image filters and safe decoding of
uploaded files. May import db and study's base modules (config, errors, labels);
never the other wings, streamlit, pages or the CLI."""
