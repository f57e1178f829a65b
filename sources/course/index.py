# %% [markdown]
# # placeholder
