import { render } from 'preact';
import { App, boot } from './App';
import './styles.css';

boot();
render(<App />, document.getElementById('app')!);
