"""``mix recipes/<stage>.yaml`` from any directory: the working directory's file when there is one, else the
shipped recipe (an unknown name stays as given, so the error names it)."""

from pathlib import Path

from onellm_data.bundled import data_dir, find_recipe


def test_a_recipe_in_the_working_directory_wins_over_the_shipped_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shipped = data_dir("recipes") / "demo.yaml"
    assert shipped.is_file()
    assert find_recipe("recipes/demo.yaml") == shipped
    assert find_recipe("demo.yaml") == shipped
    (tmp_path / "recipes").mkdir()
    (tmp_path / "recipes" / "demo.yaml").write_text("name: mine\n")
    assert find_recipe("recipes/demo.yaml") == Path("recipes/demo.yaml")
    assert find_recipe("recipes/no_such_stage.yaml") == Path("recipes/no_such_stage.yaml")
    assert find_recipe("other/demo.yaml") == Path("other/demo.yaml")  # only recipes/<name> falls back
