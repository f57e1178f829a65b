# %% [markdown]
# # Attention in Computer Vision
#
# A day-by-day course: from the attention formula to a Vision Transformer trained on a GPU.
# Each day has a **lesson** (this folder) and an **assignment** (`assignments/<day>/`), autograded
# with nbgrader: visible tests in the notebook give you immediate feedback; hidden tests run when
# your instructor grades it.
#
# | day | lesson | assignment | what you build |
# |---|---|---|---|
# | 1 | [The attention formula](day1_attention.ipynb) | [day1_attention](../assignments/day1_attention/day1_attention.ipynb) | softmax, scaled dot-product attention, causal and padding masks, attention over padded batches |
# | 2 | [Channel attention: SE and ECA](day2_channel_attention.ipynb) | [day2_channel_attention](../assignments/day2_channel_attention/day2_channel_attention.ipynb) | Squeeze-and-Excitation, ECA, an SE-ResNet basic block |
# | 3 | [Spatial attention and CBAM](day3_spatial_cbam.ipynb) | [day3_spatial_cbam](../assignments/day3_spatial_cbam/day3_spatial_cbam.ipynb) | spatial gates, CBAM in three orders, two networks repaired from their symptoms |
# | 4 | [Self- and cross-attention](day4_self_cross_attention.ipynb) | [day4_self_cross_attention](../assignments/day4_self_cross_attention/day4_self_cross_attention.ipynb) | multi-head self-attention, cross-attention, a 2-D sine-cosine position embedding |
# | 5 | [The Vision Transformer](day5_vit.ipynb) | [day5_vit](../assignments/day5_vit/day5_vit.ipynb) | a ViT equal to torchvision's, a mean-pooling ViT, attention rollout |
# | 6 | [The Swin Transformer](day6_swin.ipynb) | [day6_swin](../assignments/day6_swin/day6_swin.ipynb) | windows, shifts, relative position bias, patch merging, any map size (padding) |
# | 7 | [Practicum: ViT on CIFAR-10](day7_practicum.ipynb) | [day7_practicum](../assignments/day7_practicum/day7_practicum.ipynb) | a training loop, a ViT trained on a GPU |
#
# **How to work.** Read the lesson, then open the assignment. Write your code where it says
# `# YOUR CODE HERE`, run the test cell under each exercise, and before you submit use
# *Kernel → Restart Kernel and Run All Cells*. Do not rename the notebook or delete cells.
#
# **Hardware.** Days 1-6 run on any laptop CPU in a minute or two. Day 7 trains for real on a GPU
# (Colab's free T4 is enough) and falls back to a reduced mode on a CPU, saying so.
#
# **On Colab.** Every notebook runs on its own: upload it (*File → Upload notebook*) and
# *Runtime → Run all*.
