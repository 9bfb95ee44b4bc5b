import { render } from 'preact';
import { App, boot } from './App';
import { registerShellWorker } from './offline';
import './theme';
import './styles.css';
import './dark.css';
import './extras.css';

boot();
render(<App />, document.getElementById('app')!);
registerShellWorker();
