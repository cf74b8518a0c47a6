"""Packaging read from settings.ini (the nbdev 2 layout): `pip install -e .[dev]`."""
from configparser import ConfigParser
import setuptools, shlex

cfg = ConfigParser(delimiters=['='])
cfg.read('settings.ini', encoding='utf-8')
cfg = cfg['DEFAULT']

requirements = shlex.split(cfg.get('requirements', ''))
dev_requirements = shlex.split(cfg.get('dev_requirements', ''))
scale_requirements = shlex.split(cfg.get('scale_requirements', ''))   # pip install -e .[scale]: the embed stage on Ray Data (02a_scale)
scripts = [s.strip() for s in cfg.get('console_scripts', '').split('\n') if s.strip()]

setuptools.setup(
    name=cfg['lib_name'],
    version=cfg['version'],
    description=cfg['description'],
    author=cfg['author'],
    author_email=cfg['author_email'],
    license='Apache-2.0',
    keywords=cfg['keywords'].split(),
    classifiers=['Programming Language :: Python :: 3.11'],   # the licence is the SPDX expression above
    url=cfg['git_url'],
    project_urls={'Source': cfg['git_url']},
    long_description=open('README.md', encoding='utf-8').read() if __import__('os').path.exists('README.md') else cfg['description'],
    long_description_content_type='text/markdown',
    packages=setuptools.find_packages(include=['mmkg', 'mmkg.*']),
    include_package_data=True,
    package_data={'mmkg': ['resources/*']},
    install_requires=requirements,
    extras_require={'dev': dev_requirements, 'scale': scale_requirements},
    python_requires=f">={cfg['min_python']}",
    entry_points={'console_scripts': scripts, 'nbdev': [f"{cfg['lib_path']}={cfg['lib_path']}._modidx:d"]},
    zip_safe=False,
)
