"""The operational handbook (操作手册), built from the running system.

Hand-written chapters (``docs/chapters``, shipped in the wheel as ``jianhu/handbook/docs``) plus
pages generated at build time from the loaded plugins and the code: forms, scales, policy,
lifecycle, deadlines, roles, CLI, hooks, plugins, role checklists and worked examples.

- :func:`jianhu.handbook.site.build_site` / :func:`~jianhu.handbook.site.serve_site`: the MkDocs
  site (``jianhu handbook build|serve``);
- :func:`jianhu.handbook.pdf.build_pdf`: one printable PDF (``jianhu handbook pdf``);
- :class:`jianhu.handbook.model.Handbook`: the generated pages and the chapter directives.

Import the submodules directly; this package imports nothing heavy so the CLI starts fast.
"""
