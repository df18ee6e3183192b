"""Run reports: the cucumber-under-xdist fix, per-scenario results, the summary, Allure rendering."""
